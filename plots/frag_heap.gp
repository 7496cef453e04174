# frag_heap.gp: Johnstone & Wilson fragmentation #4 per trace, one bar per heap strategy.
set title 'Heap fragmentation per trace (J&W #4 = peak footprint / peak live - 1; lower is better)'
set ylabel 'fragmentation #4 (ratio)'
set xlabel 'trace'
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -25
set yrange [0:*]
heaps = system("awk '{print $2}' ".dat." | sort -u | tr '\n' ' '")
traces = system("awk '{print $1}' ".dat." | awk '!s[$0]++' | tr '\n' ' '")
plot for [h in heaps] '< awk -v h='.h.' ''$2==h {print $1, $3}'' '.dat using 2:xtic(1) title h
