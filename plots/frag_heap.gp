# frag_heap.gp: Johnstone & Wilson fragmentation #4 per trace, one bar per heap strategy.
# Drawn as frag4 + 1 = peak footprint / peak live, on a log scale (peers with large
# reservations reach 100s); the title names what the axis plots.
# dat: workload heap frag4 (1 CPU; a strategy heap's first combination, its frag4 does not
# depend on the layers below).
set title 'Heap fragmentation per workload: peak footprint / peak live (J&W #4 + 1; 1 = no waste; lower is better)'
set ylabel 'peak footprint / peak live (log scale; 1 = no waste)'
set xlabel 'workload (1 CPU, serial replay)'
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -30 font ',9'
set logscale y
set yrange [0.9:*]
heaps = system("awk '{print $2}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
wls = system("awk '{print $1}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
# One row per workload, one column per heap ('-' where a heap has no row).
tab = "< awk 'NR==FNR {v[$1 SUBSEP $2]=$3; next} !s[$1]++ {printf \"%s\", $1; n=split(\"".heaps."\", h, \" \"); for (i=1;i<=n;i++) printf \" %s\", ((($1 SUBSEP h[i]) in v) ? v[$1 SUBSEP h[i]] : \"-\"); print \"\"}' ".dat." ".dat
set datafile missing '-'
plot for [i=1:words(heaps)] tab using (column(i+1) + 1):xtic(1) title word(heaps, i)
