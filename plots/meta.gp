# meta.gp: metadata bytes of each layer at the end of a workload, per combination, one
# panel per workload (metawls, set by plot.sh: every workload with serial rows), each in
# its own binary unit (KiB, MiB, GiB) picked from its largest stack.
# dat: workload series heap_meta va_meta phys_meta (bytes), 1 CPU serial.
wls = metawls
nw = words(wls)
ncol = nw < 2 ? 1 : nw <= 4 ? 2 : 3
nrow = int((nw + ncol - 1) / ncol)
if (term eq 'svg') { set terminal svg size 640*ncol+40,460*nrow+60 dynamic font 'Sans,11' } else { set terminal pngcairo size 640*ncol+40,460*nrow+60 font 'Sans,10' }
set output out
set termoption noenhanced
set multiplot layout nrow,ncol title 'Metadata at the end of each workload, 1 CPU serial: heap + VA + frame allocator, stacked (lower is cheaper)'
set style data histogram
set style histogram rowstacked
set boxwidth 0.7
set xtics rotate by -40 font ',8'
set key inside top right vertical font ',8'
set bmargin 8
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0
do for [i=1:nw] {
	w = word(wls, i)
	sel = '< awk ''$1=="'.w.'"'' '.dat
	m = system("awk '$1==\"".w."\" {t = $3 + $4 + $5; if (t > m) m = t} END {print m + 0}' ".dat) + 0
	u = unit_size(m)
	set title 'workload '.w
	set ylabel unit_name(m).' of metadata'
	plot sel using ($3/u):xtic(2) title 'heap metadata', '' using ($4/u) title 'VA metadata', \
		'' using ($5/u) title 'frame allocator metadata'
}
unset multiplot
