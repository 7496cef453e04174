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
