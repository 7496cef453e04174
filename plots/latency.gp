# latency.gp: per-op latency percentiles per series at 1 CPU (serial replay), one panel
# per workload (latwls, set by plot.sh: every workload with trusted serial rows): p50, p99 and p99.9 as the median over the
# repetitions with the 95% interval as error bars (FIELD_ci_lo, FIELD_ci_hi), and p99
# without the host's stand-ins for page-table edits (lat_ex_p99_ns: our heaps only).
# dat: workload series p50 lo hi p99 lo hi p999 lo hi p99_without_standins ('-': none)
wls = latwls
nw = words(wls)
ncol = nw < 2 ? 1 : nw <= 4 ? 2 : 3
nrow = int((nw + ncol - 1) / ncol)
if (term eq 'svg') { set terminal svg size 700*ncol+40,480*nrow+60 dynamic font 'Sans,11' } else { set terminal pngcairo size 700*ncol+40,480*nrow+60 font 'Sans,10' }
set output out
set termoption noenhanced
set multiplot layout nrow,ncol title 'Op latency percentiles at 1 CPU (serial replay; median over repetitions, 95% error bars; lower is better)'
set ylabel 'ns per op (log scale)'
set logscale y
set xtics rotate by -40 font ',8'
set key inside top right horizontal font ',8'
set offsets 0, 0, graph 0.2, 0
set bmargin 8
set datafile missing '-'
set pointsize 0.8
do for [i=1:nw] {
	w = word(wls, i)
	sel = '< awk ''$1=="'.w.'"'' '.dat
	set title 'workload '.w
	nser = system("awk '$1==\"".w."\"' ".dat." | wc -l") + 0
	set xrange [-0.6:nser - 0.4]
	nex = system("awk '$1==\"".w."\" && $12 != \"-\"' ".dat." | wc -l") + 0
	if (nex > 0) {
		plot sel using ($0 - 0.24):3:4:5:xtic(2) with yerrorbars lt 1 pt 7 title 'p50', \
			sel using ($0 - 0.08):6:7:8 with yerrorbars lt 2 pt 7 title 'p99', \
			sel using ($0 + 0.08):9:10:11 with yerrorbars lt 6 pt 7 title 'p99.9', \
			sel using ($0 + 0.24):12 with points lt 2 pt 6 title 'p99 without stand-ins'
	} else {
		plot sel using ($0 - 0.24):3:4:5:xtic(2) with yerrorbars lt 1 pt 7 title 'p50', \
			sel using ($0 - 0.08):6:7:8 with yerrorbars lt 2 pt 7 title 'p99', \
			sel using ($0 + 0.08):9:10:11 with yerrorbars lt 6 pt 7 title 'p99.9'
	}
}
unset multiplot
