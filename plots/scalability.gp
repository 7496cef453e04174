# scalability.gp: throughput against CPU count, one line per strategy combination.
set title 'Scalability: throughput vs CPUs (higher is better)'
set xlabel 'CPUs'
set ylabel 'operations per second'
set yrange [0:*]
set xtics 1

series = system("awk '{print $1}' ".dat." | sort -u | tr '\n' ' '")
plot for [s in series] '< awk -v s='.s.' ''$1==s {print $2, $3}'' '.dat.' | sort -n' using 1:2 with linespoints lw 2 pt 7 title s
