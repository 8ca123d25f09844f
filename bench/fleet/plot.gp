# bench/fleet/plot.gp -- the chart of bench/fleet/run.sh: median download time against the
# number of clients, for dfget (P2P) and curl (straight from the origin), with the physical
# lower bound T_min drawn in (and the origin's own bound for curl), min-max as error bars.
# Usage: gnuplot -e "csv='median.csv'; out='plot.png'; title='...'" plot.gp
# median.csv columns (no header): 1 method, 2 n, 10 bound_s, 11 t_min_s, 12 min_s,
# 13 median_s, 14 max_s (see run.sh for the rest).
set datafile separator ","
set terminal pngcairo size 1000,640 font ",11"
set output out
set title title
set xlabel "clients (N)"
set ylabel "time per client (s)"
set key top left
set grid
set logscale y
set autoscale y
set xrange [0:*]
set offsets 0, graph 0.03, graph 0.08, graph 0.08
is(m) = strcol(1) eq m
plot csv using 2:(is("dfget") ? $13 : NaN):(is("dfget") ? $12 : NaN):(is("dfget") ? $14 : NaN) \
	with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title "Dragonfly-C dfget: median (min-max)", \
     csv using 2:(is("curl") ? $13 : NaN):(is("curl") ? $12 : NaN):(is("curl") ? $14 : NaN) \
	with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "curl from the origin: median (min-max)", \
     csv using 2:(is("dfget") ? $11 : NaN) with lines lw 2 dt 2 lc rgb "#2ca02c" \
	title "T_{min} = max(F/u_o, F/d_c, NF/(u_s+Nu_c))", \
     csv using 2:(is("dfget") ? 1.3 * $11 : NaN) with lines lw 1 dt 3 lc rgb "#2ca02c" \
	title "1.3 T_{min} (target)", \
     csv using 2:(is("curl") ? $10 : NaN) with lines lw 1 dt 2 lc rgb "#d62728" \
	title "curl's bound max(F/d_c, NF/u_o)"
