# speed.gp: speed at 1 CPU (serial replay) relative to today's Hermit
# (freelist-freelist-talc): per workload, the median of the per-round ratios of ops/s with
# its 95% interval as error bars (plots/timing_dat.py speed, as the report's verdicts: a
# bar that crosses the line at 1 is no clear difference). Series: talc and slab on
# buddy-btree, the fastest peer, glibc, the null heap (black).
# dat: workload series ratio lo hi n
wls = system("awk '{print $1}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
ser = system("awk '{print $2}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
nmin = system("awk 'NR == 1 || $6 < m {m = $6} END {print m}' ".dat) + 0
nw = words(wls)
ns = words(ser)
set title sprintf('Speed relative to freelist-freelist-talc (today''s Hermit), 1 CPU serial replay: ops/s ratio per round, median and 95%% interval (n >= %d)', nmin)
set ylabel 'ops/s ratio to freelist-freelist-talc (log scale; > 1 = faster)'
set xlabel 'workload'
set bmargin 9
set logscale y
set xrange [-0.5:nw - 0.5]
set xtics () rotate by -30 font ',9'
do for [i=1:nw] { set xtics add (word(wls, i) i - 1) }
# Workload i at x = i - 1 (the words before it); series j offset inside its slot.
off(j) = (j - 1 - (ns - 1) / 2.0) * 0.7 / ns
xof(w) = (strstrt(' '.wls, ' '.w.' ') > 0 ? words(substr(' '.wls, 1, strstrt(' '.wls, ' '.w.' '))) : -1)
plot for [j=1:ns] '< awk ''$2=="'.word(ser, j).'"'' '.dat \
	using (xof(strcol(1)) + off(j)):3:4:5 with yerrorbars \
	lt series_lt(word(ser, j)) pt 7 title word(ser, j), \
	1 with lines lc rgb '#666666' dt 2 lw 1 title '1 = as fast as freelist-freelist-talc'
