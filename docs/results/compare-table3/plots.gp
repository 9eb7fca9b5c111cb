set datafile separator ','
set terminal pngcairo size 1000,600 noenhanced
set key below
set grid
set xlabel 'iteration'
set output 'docs/results/compare-table3/accuracy.png.partial'
set ylabel 'test accuracy (%)'
set title 'CIFAR-10 test accuracy'
plot 'docs/results/compare-table3/nesterov-fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Nesterov, fixed (0.001, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/nesterov-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Nesterov, triangular 0.001-0.006', \
     'docs/results/compare-table3/adam-fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Adam, fixed (0.0005, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/adam-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Adam, triangular 0.0005-0.002', \
     'docs/results/compare-table3/adam-triangular-70k/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Adam, triangular 0.0005-0.002, 70k', \
     'docs/results/compare-table3/rmsprop-fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'RMSprop, fixed (0.0001, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/rmsprop-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'RMSprop, triangular 0.0001-0.0003', \
     'docs/results/compare-table3/rmsprop-triangular-70k/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'RMSprop, triangular 0.0001-0.0003, 70k', \
     'docs/results/compare-table3/adagrad-fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'AdaGrad, fixed (0.003, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/adagrad-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'AdaGrad, triangular 0.003-0.035', \
     'docs/results/compare-table3/adadelta-fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'AdaDelta, fixed (0.01, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/adadelta-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'AdaDelta, triangular 0.01-0.1'
set output 'docs/results/compare-table3/lr.png.partial'
set logscale y
set ylabel 'learning rate'
set title 'Learning rate (multiplier-1 group)'
plot 'docs/results/compare-table3/nesterov-fixed/train.csv' every 35::1 using 1:2 with lines title 'Nesterov, fixed (0.001, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/nesterov-triangular/train.csv' every 12::1 using 1:2 with lines title 'Nesterov, triangular 0.001-0.006', \
     'docs/results/compare-table3/adam-fixed/train.csv' every 35::1 using 1:2 with lines title 'Adam, fixed (0.0005, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/adam-triangular/train.csv' every 12::1 using 1:2 with lines title 'Adam, triangular 0.0005-0.002', \
     'docs/results/compare-table3/adam-triangular-70k/train.csv' every 35::1 using 1:2 with lines title 'Adam, triangular 0.0005-0.002, 70k', \
     'docs/results/compare-table3/rmsprop-fixed/train.csv' every 35::1 using 1:2 with lines title 'RMSprop, fixed (0.0001, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/rmsprop-triangular/train.csv' every 12::1 using 1:2 with lines title 'RMSprop, triangular 0.0001-0.0003', \
     'docs/results/compare-table3/rmsprop-triangular-70k/train.csv' every 35::1 using 1:2 with lines title 'RMSprop, triangular 0.0001-0.0003, 70k', \
     'docs/results/compare-table3/adagrad-fixed/train.csv' every 35::1 using 1:2 with lines title 'AdaGrad, fixed (0.003, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/adagrad-triangular/train.csv' every 12::1 using 1:2 with lines title 'AdaGrad, triangular 0.003-0.035', \
     'docs/results/compare-table3/adadelta-fixed/train.csv' every 35::1 using 1:2 with lines title 'AdaDelta, fixed (0.01, x0.1 at 60k and 65k)', \
     'docs/results/compare-table3/adadelta-triangular/train.csv' every 12::1 using 1:2 with lines title 'AdaDelta, triangular 0.01-0.1'
