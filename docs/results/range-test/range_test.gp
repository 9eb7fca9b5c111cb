set datafile separator ','
set datafile missing ''
set terminal pngcairo size 1000,600 noenhanced
set output 'docs/results/range-test/range_test.png'
set title 'LR range test: LR rising linearly over 8 epochs'
set xlabel 'learning rate'
set ylabel 'test accuracy (%)'
set y2label 'training loss (smoothed)'
set ytics nomirror
set y2tics
set grid
set arrow from 0.00208552, graph 0 to 0.00208552, graph 1 nohead dt 2
set arrow from 0.00706177, graph 0 to 0.00706177, graph 1 nohead dt 2
plot 'docs/results/range-test/range_test.csv' every ::1 using 1:4 with linespoints pt 7 ps 0.5 title 'test accuracy', 'docs/results/range-test/range_test.csv' every ::1 using 1:3 axes x1y2 with lines title 'smoothed loss'
