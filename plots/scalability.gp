# scalability.gp: speedup over the parallel replay at 1 CPU (1p) against CPUs, one panel
# per workload, a few series each: talc and slab on buddy-btree, the fastest peer, glibc,
# and the null heap's ceiling (dashed black); trace-bound (grey dash-dot): the most the
# trace's balance and order allow, where that is below ideal. Error bars: the 95% interval of the
# per-round speedups (plots/timing_dat.py, as the report's verdicts); open points with no
# line: oversubscribed (more CPUs than cores: not trusted); grey dots: ideal (= CPUs).
# Points of one CPU count are spread a little sideways so their error bars stay apart.
# dat: workload series cpus speedup lo hi over role bound (1: harness-bound workload)
wls = system("awk '{print $1}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
nw = words(wls)
ncol = nw < 3 ? nw : 3
nrow = int((nw + ncol - 1) / ncol)
if (term eq 'svg') { set terminal svg size 460*ncol+40,400*nrow+90 dynamic font 'Sans,11' } else { set terminal pngcairo size 460*ncol+40,400*nrow+90 font 'Sans,10' }
set output out
set termoption noenhanced
set multiplot layout nrow,ncol title 'Scalability: speedup over 1 CPU (parallel replay; median of per-round ratios, 95% error bars; dashed black = null-heap ceiling, grey dash-dot = the trace bound, open = oversubscribed; harness-bound = the ceiling gains < 1.8x per doubling)'
set xlabel 'CPUs (threads of the replay)'
set ylabel 'speedup over 1p (ops/s ratio)'
set key inside top left vertical font ',8'
set bmargin 4
set yrange [0:*]
set xtics 1
dx(j, n) = (j - (n + 1) / 2.0) * 0.04
do for [i=1:nw] {
	w = word(wls, i)
	ser = system("awk '$1==\"".w."\" {print $2}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
	xmax = system("awk '$1==\"".w."\" {if ($3 > m) m = $3} END {print m}' ".dat) + 0
	set xrange [0.5:xmax + 0.5]
	bound = system("awk '$1==\"".w."\" {print $9; exit}' ".dat) + 0
	set title 'workload '.w.(bound ? ' (harness-bound)' : '')
	ns = words(ser)
	nover = system("awk '$1==\"".w."\" && $7==1' ".dat." | wc -l") + 0
	if (nover > 0) {
		plot x with lines lc rgb '#999999' lw 1 dt 3 title 'ideal', \
			for [j=1:words(ser)] '< awk ''$1=="'.w.'" && $2=="'.word(ser, j).'" && $7==0'' '.dat \
				using ($3 == 1 || word(ser, j) eq 'trace-bound' ? $3 : $3 + dx(j, ns)):4:5:6 with yerrorlines lt series_lt(word(ser, j)) title word(ser, j), \
			for [j=1:words(ser)] '< awk ''$1=="'.w.'" && $2=="'.word(ser, j).'" && $7==1'' '.dat \
				using ($3 == 1 || word(ser, j) eq 'trace-bound' ? $3 : $3 + dx(j, ns)):4:5:6 with yerrorbars lt series_lt(word(ser, j)) pt 6 ps 1.3 \
				title (j == 1 ? 'oversubscribed (not trusted)' : '')
	} else {
		plot x with lines lc rgb '#999999' lw 1 dt 3 title 'ideal', \
			for [j=1:words(ser)] '< awk ''$1=="'.w.'" && $2=="'.word(ser, j).'"'' '.dat \
				using ($3 == 1 || word(ser, j) eq 'trace-bound' ? $3 : $3 + dx(j, ns)):4:5:6 with yerrorlines lt series_lt(word(ser, j)) title word(ser, j)
	}
}
unset multiplot
