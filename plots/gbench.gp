# gbench.gp: Google Benchmark microbenchmarks (gbench_bench): real time per iteration,
# the median over the repetitions with its 95% interval as error bars (none when n = 1).
# dat: layer subject bench t1 lo1 hi1 t2 lo2 hi2 n (ns; '-' = not run).
if (term eq 'svg') { set terminal svg size 1100,900 dynamic font 'Sans,12' } else { set terminal pngcairo size 1100,900 font 'Sans,11' }
set output out
set termoption noenhanced
nmin = system("awk 'NR == 1 || $10 < m {m = $10} END {print m}' ".dat) + 0
set multiplot layout 2,1 title sprintf('Google Benchmark: real time per iteration (lower is better), median of %d repetition(s)%s', nmin, nmin > 1 ? ', 95% error bars' : ', no interval')
set datafile missing '-'
set style data histogram
set style histogram errorbars gap 1 lw 1
set logscale y
set ylabel 'ns per iteration (log scale)'
set xtics rotate by -30 font ',9'
set bmargin 6
set title 'heaps (phys-virt-heap, and the peers): pair64 = one alloc+free pair, random1000 = one free+alloc in a 256-slot window'
plot '< awk ''$1=="heap" && $3=="pair64"'' '.dat using 4:5:6:xtic(2) title 'pair64, 1 thread', \
	'' using 7:8:9 title 'pair64, 2 threads', \
	'< awk ''$1=="heap" && $3=="random1000"'' '.dat using 4:5:6 title 'random1000, 1 thread', \
	'' using 7:8:9 title 'random1000, 2 threads'
set title 'frame allocators (alloc+free of 4 KiB = order0, 2 MiB = order9) and VA allocators (64 KiB)'
plot '< awk ''$1!="heap" {print $1"/"$2"/"$3, $4, $5, $6, $7, $8, $9}'' '.dat using 2:3:4:xtic(1) title '1 thread', \
	'' using 5:6:7 title '2 threads'
unset multiplot
