# scalability.gp: throughput against CPU count, one line per strategy combination.
# dat: series cpus ops_per_s (one workload: scalwl).
set title 'Scalability: replay throughput vs CPUs, workload '.scalwl.' (higher is better)'
set xlabel 'CPUs (threads of the host engine, parallel replay of the same trace)'
set ylabel 'operations per second (millions)'
set yrange [0:*]
set xtics 1
set key outside right top vertical font ',9'
set rmargin 28
series = system("awk '{print $1}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
# 16 distinguishable lines: 8 colours solid, then again dashed with open points.
colors = '#9400d3 #009e73 #56b4e9 #e69f00 #f0e442 #0072b2 #e51e10 #000000'
do for [i=1:16] { d = i > 8 ? 2 : 1; p = i > 8 ? 4 : 7; set linetype i lc rgb word(colors, (i - 1) % 8 + 1) lw 2 dt d pt p }
n = words(series)
plot for [i=1:n] '< awk -v s='.word(series, i).' ''$1==s {print $2, $3}'' '.dat.' | sort -n' \
	using 1:($2/1e6) with linespoints lt i title word(series, i)
