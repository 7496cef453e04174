# meta.gp: metadata bytes of each layer at the end of a workload, per combination.
# dat: series heap_meta va_meta phys_meta (bytes), one workload (latwl), 1 CPU.
set title 'Metadata at the end of workload '.latwl.' (heap + VA + frame allocator; lower is cheaper)'
set ylabel 'KiB'
set style data histogram
set style histogram rowstacked
set boxwidth 0.7
set xtics rotate by -30 font ',9'
set yrange [0:*]
plot dat using ($2/1024):xtic(1) title 'heap metadata', '' using ($3/1024) title 'VA metadata', \
	'' using ($4/1024) title 'frame allocator metadata'
