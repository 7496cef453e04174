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
plot for [s in series] '< awk -v s='.s.' ''$1==s {print $2, $3}'' '.dat.' | sort -n' using 1:($2/1e6) with linespoints lw 2 pt 7 title s
