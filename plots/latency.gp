# latency.gp: allocation latency percentiles per strategy combination and trace (log scale).
set title 'Allocation latency percentiles (lower is better)'
set ylabel 'nanoseconds'
set logscale y
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -25 font ',9'
plot dat using 3:xtic(stringcolumn(1).' '.stringcolumn(2)) title 'p50', '' using 4 title 'p99', \
	'' using 5 title 'p99.9', '' using 6 title 'max'
