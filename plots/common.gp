# common.gp: terminal and style shared by every figure (dat, out, term set by plot.sh).
if (term eq 'svg') { set terminal svg size 1100,600 dynamic font 'Sans,12' } else { set terminal pngcairo size 1100,600 font 'Sans,11' }
set output out
set grid ytics lc rgb '#dddddd'
set key below horizontal
set termoption noenhanced
set border 3
set tics nomirror
set style fill solid 0.85 border -1
set bmargin 7
# Sizes in binary units: the unit for values up to m bytes, and its size in bytes.
unit_name(m) = m >= 2**30 ? 'GiB' : m >= 2**20 ? 'MiB' : m >= 2**10 ? 'KiB' : 'bytes'
unit_size(m) = m >= 2**30 ? 2.0**30 : m >= 2**20 ? 2.0**20 : m >= 2**10 ? 1024.0 : 1.0
# 16 distinguishable line types: 8 colours solid, then again dashed with open points.
colors = '#0072b2 #e69f00 #009e73 #cc79a7 #56b4e9 #d55e00 #9400d3 #000000'
do for [i=1:16] { d = i > 8 ? 2 : 1; p = i > 8 ? 4 : 7; set linetype i lc rgb word(colors, (i - 1) % 8 + 1) lw 2 dt d pt p ps 1 }
# 17: the null heap's ceiling, black and dashed in every figure.
set linetype 17 lc rgb '#000000' lw 2 dt 2 pt 5 ps 1
set linetype 18 lc rgb '#777777' lw 1.5 dt 4 pt 0 ps 0
# One colour per series in every figure: the pair the proposal compares, the peers, the
# ceiling (17); anything else 7.
series_lt(s) = s eq 'trace-bound' ? 18 : strstrt(s, '-null') ? 17 : s eq 'buddy-btree-talc' ? 1 : s eq 'buddy-btree-slab' ? 2 : \
	s eq 'jemalloc' ? 3 : s eq 'glibc' ? 4 : s eq 'tcmalloc' ? 5 : s eq 'mimalloc' ? 6 : 7
