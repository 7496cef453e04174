# va_frag.gp: address space reserved / requested and free ranges, per VA strategy and workload.
# dat: workload virt reserved_over_requested free_ranges (kind=va_frag rows of va_replay).
set multiplot layout 1,2 title 'Virtual address space per VA strategy: internal fragmentation and free ranges'
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -30 font ',9'
set datafile missing '-'
virts = system("awk '{print $2}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
tab(c) = "< awk 'NR==FNR {v[$1 SUBSEP $2]=$".c."; next} !s[$1]++ {printf \"%s\", $1; n=split(\"".virts."\", h, \" \"); for (i=1;i<=n;i++) printf \" %s\", ((($1 SUBSEP h[i]) in v) ? v[$1 SUBSEP h[i]] : \"-\"); print \"\"}' ".dat." ".dat
set title 'reserved / requested bytes (1 = no waste; lower is better)'
set ylabel 'ratio'
set yrange [0:*]
plot for [i=1:words(virts)] tab(3) using (column(i+1)):xtic(1) title word(virts, i)
set title 'free ranges at the end (fewer = less fragmented)'
set ylabel 'count'
plot for [i=1:words(virts)] tab(4) using (column(i+1)):xtic(1) title word(virts, i)
unset multiplot
