# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 271  of event 'cpu-clock'
# Event count (approx.): 67750000
#
# Overhead  Symbol                         
# ........  ...............................
#
    32.84%  [k] lock_is_held_type
    32.47%  [k] lock_acquire
     8.86%  [k] lock_release
     7.38%  [k] pagemap_pmd_range
     5.17%  [k] rep_movs_alternative
     2.95%  [k] _raw_spin_unlock_irqrestore
     2.95%  [k] folio_precise_page_mapcount
     1.48%  [.] pi_pass_batched
     1.11%  [.] __libc_pread
     1.11%  [.] __libc_pwrite
     1.11%  [k] add_to_pagemap
     0.74%  [k] finish_task_switch.isra.0
     0.37%  [k] __put_user_8
     0.37%  [k] debug_check_no_locks_freed
     0.37%  [k] do_syscall_64
     0.37%  [k] page_idle_get_folio
     0.37%  [.] 0x000000000009dffb


#
# (Tip: Save output of perf stat using: perf stat record <target workload>)
#
