# phys_2m.gp: share of free physical memory available as whole 2 MiB blocks after churn.
# dat: variant phys free_2m_share (frame_bench churn: fill 90%, 100 rounds of 10% turnover).
set title 'Physical memory after churn: free memory in whole 2 MiB blocks (higher is better)'
set ylabel 'share of free memory (%)'
set xlabel 'churn pattern (frame_bench: fill to 90%, then rounds freeing and reallocating 10%)'
set yrange [0:105]
set style data histogram
set style histogram clustered gap 1
physs = system("awk '{print $2}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
tab = "< awk 'NR==FNR {v[$1 SUBSEP $2]=$3; next} !s[$1]++ {printf \"%s\", $1; n=split(\"".physs."\", h, \" \"); for (i=1;i<=n;i++) printf \" %s\", ((($1 SUBSEP h[i]) in v) ? v[$1 SUBSEP h[i]]*100 : \"-\"); print \"\"}' ".dat." ".dat
set datafile missing '-'
n = words(physs)
# Bar j of cluster k is centred at k + (j - 1 - (n - 1) / 2) / (n + 1) (gap 1).
plot for [i=1:n] tab using (column(i+1)):xtic(1) title word(physs, i), \
	for [i=1:n] tab using ($0 + (i - 1 - (n - 1) / 2.0) / (n + 1)):(column(i+1)):(sprintf('%.1f%%', column(i+1))) \
	with labels offset 0,0.8 notitle, \
	46.6 with lines dt 2 lw 1 lc rgb '#aa0000' title 'LLFree paper (ATC''23): 46.6%, the value it reports for this metric (a reference, not measured here)'
