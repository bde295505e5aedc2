# Latency against payload size for the three wait modes, with the raw
# baselines of the same run. Run by `make bench`:
#   gnuplot -e "dir='build/bench'" bench/latency.gp
# Reads dir/latency.dat and dir/baselines.gp (written by amp-bench),
# writes dir/latency.png.
if (!exists("dir")) dir = "build/bench"
python_rtt_us = NaN     # set by bench/python_rtt.py, if the module is built
load dir."/baselines.gp"

set terminal pngcairo size 1000,560 font "sans,10"
set output dir."/latency.png"
set title "Round trip through the full stack (host process <-> simulated core process, pinned)"
set xlabel "payload (bytes)"
set ylabel "round trip (us, log scale)"
set logscale y
set logscale x 2
set xrange [12:640]
set xtics ("16" 16, "64" 64, "496" 496)
set grid ytics mytics xtics
set key outside right top vertical box
set style line 1 lc rgb "#1f77b4" lw 2 pt 7 ps 1.2
set style line 2 lc rgb "#d62728" lw 2 pt 5 ps 1.2
set style line 3 lc rgb "#2ca02c" lw 2 pt 9 ps 1.4
set style line 4 lc rgb "#1f77b4" lw 1 dt 2
set style line 5 lc rgb "#d62728" lw 1 dt 2
set style line 6 lc rgb "#555555" lw 1 dt 3

# Columns: size, then p50 and p99 of polled, blocking, adaptive.
plot dir."/latency.dat" using 1:2 with linespoints ls 1 title "polled p50", \
     ""                 using 1:3 with lines ls 4 title "polled p99", \
     ""                 using 1:4 with linespoints ls 2 title "blocking p50", \
     ""                 using 1:5 with lines ls 5 title "blocking p99", \
     ""                 using 1:6 with linespoints ls 3 title "adaptive p50", \
     raw_pingpong_us with lines ls 6 title sprintf("raw cache-line ping-pong %.2f us", raw_pingpong_us), \
     raw_wake_us with lines lc rgb "#999999" lw 1 dt 4 title sprintf("raw eventfd ping-pong %.1f us", raw_wake_us), \
     "+" using (16):(python_rtt_us) every ::0::0 with points pt 13 ps 1.6 lc rgb "#9467bd" \
         title (python_rtt_us == python_rtt_us ? sprintf("Python openamp (blocking) %.0f us", python_rtt_us) : "Python openamp: not built")
