# phys_2m.gp: share of free physical memory available as whole 2 MiB blocks after churn.
set title 'Physical memory after churn: free memory in whole 2 MiB blocks (higher is better)'
set ylabel 'share of free memory (%)'
set yrange [0:100]
set style data histogram
set style histogram clustered gap 1
set arrow from graph 0, first 46.6 to graph 1, first 46.6 nohead dt 2 lc rgb '#aa0000'
set label 'LLFree 46.6%' at graph 0.02, first 49 tc rgb '#aa0000'
plot dat using ($2*100):xtic(1) title 'free 2 MiB share'
