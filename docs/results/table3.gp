set datafile separator ','
set terminal pngcairo size 1500,900 noenhanced
set output 'table3.png.partial'
set multiplot layout 2,3 title "CIFAR-10 test accuracy of the paper's Table 3 rows (open circles: the paper's figures)"
set grid
set key bottom right
set xrange [0:72000]
set yrange [*:85]
set xtics 10000
set xlabel 'iteration'
set ylabel 'test accuracy (%)'
set title 'Nesterov, CLR bounds 0.001-0.006'
plot 'compare-table3/nesterov-fixed/eval.csv' every ::1 using 1:3 with linespoints lc 2 pt 7 ps 0.4 title 'fixed 70k', \
     'compare-table3/nesterov-triangular/eval.csv' every ::1 using 1:3 with linespoints lc 1 pt 7 ps 0.4 title 'CLR 25k', \
     '+' using (25000):(81.3) every ::0::0 with points lc 1 pt 6 ps 2.5 notitle, \
     '+' using (70000):(82.1) every ::0::0 with points lc 2 pt 6 ps 2.5 notitle
set title 'Adam, CLR bounds 0.0005-0.002'
plot 'compare-table3/adam-fixed/eval.csv' every ::1 using 1:3 with linespoints lc 2 pt 7 ps 0.4 title 'fixed 70k', \
     'compare-table3/adam-triangular-70k/eval.csv' every ::1 using 1:3 with linespoints lc 3 pt 7 ps 0.4 title 'CLR 70k', \
     'compare-table3/adam-triangular/eval.csv' every ::1 using 1:3 with linespoints lc 1 pt 7 ps 0.4 title 'CLR 25k', \
     '+' using (25000):(79.8) every ::0::0 with points lc 1 pt 6 ps 2.5 notitle, \
     '+' using (70000):(81.4) every ::0::0 with points lc 2 pt 6 ps 2.5 notitle, \
     '+' using (70000):(81.1) every ::0::0 with points lc 3 pt 6 ps 2.5 notitle
set title 'RMSprop, CLR bounds 0.0001-0.0003'
plot 'compare-table3/rmsprop-fixed/eval.csv' every ::1 using 1:3 with linespoints lc 2 pt 7 ps 0.4 title 'fixed 70k', \
     'compare-table3/rmsprop-triangular-70k/eval.csv' every ::1 using 1:3 with linespoints lc 3 pt 7 ps 0.4 title 'CLR 70k', \
     'compare-table3/rmsprop-triangular/eval.csv' every ::1 using 1:3 with linespoints lc 1 pt 7 ps 0.4 title 'CLR 25k', \
     '+' using (25000):(72.8) every ::0::0 with points lc 1 pt 6 ps 2.5 notitle, \
     '+' using (70000):(75.2) every ::0::0 with points lc 2 pt 6 ps 2.5 notitle, \
     '+' using (70000):(75.1) every ::0::0 with points lc 3 pt 6 ps 2.5 notitle
set title 'AdaGrad, CLR bounds 0.003-0.035'
plot 'compare-table3/adagrad-fixed/eval.csv' every ::1 using 1:3 with linespoints lc 2 pt 7 ps 0.4 title 'fixed 70k', \
     'compare-table3/adagrad-triangular/eval.csv' every ::1 using 1:3 with linespoints lc 1 pt 7 ps 0.4 title 'CLR 25k', \
     'compare-table3-seed2/adagrad-triangular/eval.csv' every ::1 using 1:3 with linespoints lc 1 dt 2 pt 4 ps 0.4 title 'CLR 25k, seed 2', \
     '+' using (25000):(76.0) every ::0::0 with points lc 1 pt 6 ps 2.5 notitle, \
     '+' using (70000):(74.6) every ::0::0 with points lc 2 pt 6 ps 2.5 notitle
set title 'AdaDelta, CLR bounds 0.01-0.1'
plot 'compare-table3/adadelta-fixed/eval.csv' every ::1 using 1:3 with linespoints lc 2 pt 7 ps 0.4 title 'fixed 70k', \
     'compare-table3/adadelta-triangular/eval.csv' every ::1 using 1:3 with linespoints lc 1 pt 7 ps 0.4 title 'CLR 25k', \
     '+' using (25000):(67.3) every ::0::0 with points lc 1 pt 6 ps 2.5 notitle, \
     '+' using (70000):(67.3) every ::0::0 with points lc 2 pt 6 ps 2.5 notitle
unset multiplot
set output
