# latency.gp: allocator op latency percentiles per strategy combination (log scale).
# dat: series p50 p99 p99.9 max (ns), one workload (latwl), 1 CPU.
set title 'Op latency percentiles, workload '.latwl.', 1 CPU (lower is better)'
set ylabel 'nanoseconds (log scale)'
set logscale y
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -30 font ',9'
plot dat using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9', \
	'' using 5 title 'max'
