set datafile separator ','
set terminal pngcairo size 1000,600 noenhanced
set key below
set grid
set xlabel 'iteration'
set output 'docs/results/compare-scale0.2/accuracy.png'
set ylabel 'test accuracy (%)'
set title 'CIFAR-10 test accuracy'
plot 'docs/results/compare-scale0.2/triangular2/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'triangular2, 0.001-0.006', \
     'docs/results/compare-scale0.2/fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'fixed (Caffe: 0.001, x0.1 at 60k and 65k)', \
     'docs/results/compare-scale0.2/triangular2-stages/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'triangular2 in three stages (Table 2)', \
     'docs/results/compare-scale0.2/adam-triangular/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Adam, triangular 0.0005-0.002', \
     'docs/results/compare-scale0.2/decay/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'decay, 0.007 to 0.001 over 4000', \
     'docs/results/compare-scale0.2/exp_range/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'exp_range, 0.001-0.006, gamma 0.99994', \
     'docs/results/compare-scale0.2/adam-fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'Adam, fixed (0.0005, x0.1 at 60k and 65k)', \
     'docs/results/compare-scale0.2/exp/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'exp, 0.001, gamma 0.99994'
set output 'docs/results/compare-scale0.2/lr.png'
set logscale y
set ylabel 'learning rate'
set title 'Learning rate (multiplier-1 group)'
plot 'docs/results/compare-scale0.2/triangular2/train.csv' every 2::1 using 1:2 with lines title 'triangular2, 0.001-0.006', \
     'docs/results/compare-scale0.2/fixed/train.csv' every 7::1 using 1:2 with lines title 'fixed (Caffe: 0.001, x0.1 at 60k and 65k)', \
     'docs/results/compare-scale0.2/triangular2-stages/train.csv' every 2::1 using 1:2 with lines title 'triangular2 in three stages (Table 2)', \
     'docs/results/compare-scale0.2/adam-triangular/train.csv' every 2::1 using 1:2 with lines title 'Adam, triangular 0.0005-0.002', \
     'docs/results/compare-scale0.2/decay/train.csv' every 2::1 using 1:2 with lines title 'decay, 0.007 to 0.001 over 4000', \
     'docs/results/compare-scale0.2/exp_range/train.csv' every 4::1 using 1:2 with lines title 'exp_range, 0.001-0.006, gamma 0.99994', \
     'docs/results/compare-scale0.2/adam-fixed/train.csv' every 7::1 using 1:2 with lines title 'Adam, fixed (0.0005, x0.1 at 60k and 65k)', \
     'docs/results/compare-scale0.2/exp/train.csv' every 7::1 using 1:2 with lines title 'exp, 0.001, gamma 0.99994'
