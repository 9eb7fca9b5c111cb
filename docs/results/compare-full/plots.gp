set datafile separator ','
set terminal pngcairo size 1000,600 noenhanced
set key below
set grid
set xlabel 'iteration'
set output 'docs/results/compare-full/accuracy.png.partial'
set ylabel 'test accuracy (%)'
set title 'CIFAR-10 test accuracy'
plot 'docs/results/compare-full/triangular2/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'triangular2, 0.001-0.006', \
     'docs/results/compare-full/fixed/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'fixed (Caffe: 0.001, x0.1 at 60k and 65k)', \
     'docs/results/compare-full/triangular2-stages/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'triangular2 in three stages (Table 2)', \
     'docs/results/compare-full/decay/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'decay, 0.007 to 0.001 over 4000', \
     'docs/results/compare-full/exp_range/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'exp_range, 0.001-0.006, gamma 0.99994', \
     'docs/results/compare-full/exp/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title 'exp, 0.001, gamma 0.99994'
set output 'docs/results/compare-full/lr.png.partial'
set logscale y
set ylabel 'learning rate'
set title 'Learning rate (multiplier-1 group)'
plot 'docs/results/compare-full/triangular2/train.csv' every 12::1 using 1:2 with lines title 'triangular2, 0.001-0.006', \
     'docs/results/compare-full/fixed/train.csv' every 35::1 using 1:2 with lines title 'fixed (Caffe: 0.001, x0.1 at 60k and 65k)', \
     'docs/results/compare-full/triangular2-stages/train.csv' every 12::1 using 1:2 with lines title 'triangular2 in three stages (Table 2)', \
     'docs/results/compare-full/decay/train.csv' every 12::1 using 1:2 with lines title 'decay, 0.007 to 0.001 over 4000', \
     'docs/results/compare-full/exp_range/train.csv' every 21::1 using 1:2 with lines title 'exp_range, 0.001-0.006, gamma 0.99994', \
     'docs/results/compare-full/exp/train.csv' every 35::1 using 1:2 with lines title 'exp, 0.001, gamma 0.99994'
