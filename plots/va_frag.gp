# va_frag.gp: address space reserved / requested and free ranges, per VA strategy and workload.
set multiplot layout 1,2 title 'Virtual address space: internal fragmentation and free ranges'
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -25
virts = system("awk '{print $2}' ".dat." | sort -u | tr '\n' ' '")
set title 'reserved / requested (1 = no waste)'
set ylabel 'ratio'
set yrange [0:*]

plot for [v in virts] '< awk -v v='.v.' ''$2==v {print $1, $3}'' '.dat using 2:xtic(1) title v
set title 'free ranges at the end'
set ylabel 'count'
plot for [v in virts] '< awk -v v='.v.' ''$2==v {print $1, $4}'' '.dat using 2:xtic(1) title v
unset multiplot
