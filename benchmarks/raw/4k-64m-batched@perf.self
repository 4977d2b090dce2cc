# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 1K of event 'cpu-clock'
# Event count (approx.): 371000000
#
# Overhead  Symbol                                
# ........  ......................................
#
    41.24%  [k] lock_acquire
    29.92%  [k] lock_is_held_type
    23.45%  [k] lock_release
     0.40%  [k] rcu_lockdep_current_cpu_online
     0.34%  [k] rcu_is_watching


#
# (Tip: List events using substring match: perf list <keyword>)
#
