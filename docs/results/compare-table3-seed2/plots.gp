set datafile separator ','
set terminal pngcairo size 1000,600 noenhanced
set key below
set grid
set xlabel 'iteration'
set output 'docs/results/compare-table3-seed2/accuracy.png.partial'
set ylabel 'test accuracy (%)'
set title 'CIFAR-10 test accuracy'
plot 'docs/results/compare-table3-seed2/adagrad-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'AdaGrad, triangular 0.003-0.035'
set output 'docs/results/compare-table3-seed2/lr.png.partial'
set logscale y
set ylabel 'learning rate'
set title 'Learning rate (multiplier-1 group)'
plot 'docs/results/compare-table3-seed2/adagrad-triangular/train.csv' every 12::1 using 1:2 with lines title 'AdaGrad, triangular 0.003-0.035'
