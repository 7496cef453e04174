# va_frag.gp: address space reserved / requested, free ranges and metadata at the peak of
# each address-space trace, per VA strategy (kind=va_frag rows of build/bin/va_replay).
# dat: workload virt peak_reserved_per_requested peak_free_ranges peak_meta_bytes
if (term eq 'svg') { set terminal svg size 1400,560 dynamic font 'Sans,12' } else { set terminal pngcairo size 1400,560 font 'Sans,11' }
set output out
set termoption noenhanced
stats dat using 5 nooutput
u = unit_size(STATS_max)
metaunit = unit_name(STATS_max)
set multiplot layout 1,3 title 'Virtual address space per VA strategy, at the peak of each trace (va_replay)'
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -30 font ',9'
set datafile missing '-'
virts = system("awk '{print $2}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
tab(c) = "< awk 'NR==FNR {v[$1 SUBSEP $2]=$".c."; next} !s[$1]++ {printf \"%s\", $1; n=split(\"".virts."\", h, \" \"); for (i=1;i<=n;i++) printf \" %s\", ((($1 SUBSEP h[i]) in v) ? v[$1 SUBSEP h[i]] : \"-\"); print \"\"}' ".dat." ".dat
set title 'reserved / requested bytes at the peak (1 = no waste)'
set ylabel 'reserved / requested (lower is better)'
set yrange [0:*]
plot for [i=1:words(virts)] tab(3) using (column(i+1)):xtic(1) title word(virts, i)
set title 'free ranges at the peak (fewer = less fragmented)'
set ylabel 'free ranges (log scale)'
set logscale y
set yrange [0.8:*]
plot for [i=1:words(virts)] tab(4) using (column(i+1)):xtic(1) title word(virts, i)
set title 'VA metadata at the peak'
set ylabel metaunit.' (log scale)'
set yrange [*:*]
plot for [i=1:words(virts)] tab(5) using (column(i+1)/u):xtic(1) title word(virts, i)
unset multiplot
