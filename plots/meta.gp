# meta.gp: metadata bytes of each layer at the end of a workload, per combination.
# dat: series heap_meta va_meta phys_meta (bytes), one workload (metawl), 1 CPU serial.
stats dat using ($2 + $3 + $4) nooutput
u = unit_size(STATS_max)
set title 'Metadata at the end of workload '.metawl.', 1 CPU serial (heap + VA + frame allocator; lower is cheaper)'
set ylabel unit_name(STATS_max).' of metadata (stacked by layer)'
set xlabel 'series (phys-virt-heap, or the peer)'
set style data histogram
set style histogram rowstacked
set boxwidth 0.7
set xtics rotate by -30 font ',9'
set yrange [0:*]
plot dat using ($2/u):xtic(1) title 'heap metadata', '' using ($3/u) title 'VA metadata', \
	'' using ($4/u) title 'frame allocator metadata'
