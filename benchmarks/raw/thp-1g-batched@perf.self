# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 1K of event 'cpu-clock'
# Event count (approx.): 259750000
#
# Overhead  Symbol                                    
# ........  ..........................................
#
    50.05%  [k] pv_native_safe_halt
    13.28%  [k] pagemap_pmd_range
    10.11%  [k] rep_movs_alternative
     6.06%  [.] pi_pass_batched
     2.02%  [k] page_idle_bitmap_read
     1.73%  [k] pfn_to_online_page
     1.64%  [k] page_idle_get_folio
     0.96%  [.] memset
     0.87%  [k] __cond_resched
     0.67%  [k] finish_task_switch.isra.0
     0.58%  [k] do_syscall_64
     0.58%  [k] kernfs_fop_read_iter
     0.48%  [k] __rcu_read_unlock
     0.48%  [k] _copy_to_user
     0.48%  [k] page_idle_bitmap_write
     0.48%  [k] stable_page_flags
     0.38%  [.] __libc_pwrite
     0.38%  [k] kfree


#
# (Tip: To report cacheline events from previous recording: perf c2c report)
#
