# gbench.gp: Google Benchmark microbenchmarks (gbench_bench): real time per iteration.
# dat: layer subject bench ns_1_thread ns_2_threads ('-' = not run).
if (term eq 'svg') { set terminal svg size 1100,900 dynamic font 'Sans,12' } else { set terminal pngcairo size 1100,900 font 'Sans,11' }
set output out
set termoption noenhanced
set multiplot layout 2,1 title 'Google Benchmark: real time per iteration (lower is better; one alloc+free pair, or one free+alloc in a 256-slot window)'
set datafile missing '-'
set style data histogram
set style histogram clustered gap 1
set logscale y
set ylabel 'ns per iteration (log)'
set xtics rotate by -30 font ',9'
set bmargin 6
set title 'heaps: our combinations (phys-virt-heap) and the peers'
plot '< awk ''$1=="heap" && $3=="pair64"'' '.dat using 4:xtic(2) title 'pair64, 1 thread', \
	'' using 5 title 'pair64, 2 threads', \
	'< awk ''$1=="heap" && $3=="random1000"'' '.dat using 4 title 'random1000, 1 thread', \
	'' using 5 title 'random1000, 2 threads'
set title 'frame allocators (alloc+free of 4 KiB = order0, 2 MiB = order9) and VA allocators (64 KiB)'
plot '< awk ''$1!="heap" {print $1"/"$2"/"$3, $4, $5}'' '.dat using 2:xtic(1) title '1 thread', \
	'' using 3 title '2 threads'
unset multiplot
