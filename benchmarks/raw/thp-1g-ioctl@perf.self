# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 1K of event 'cpu-clock'
# Event count (approx.): 449750000
#
# Overhead  Symbol                                    
# ........  ..........................................
#
    47.97%  [k] pv_native_safe_halt
     7.12%  [k] finish_task_switch.isra.0
     5.73%  [k] _raw_spin_unlock_irqrestore
     3.72%  [k] generic_exec_single
     2.06%  [k] idle_bitmap_scan
     1.56%  [k] idle_young_pmd
     1.06%  [k] _find_next_zero_bit
     0.89%  [k] __bitmap_set
     0.89%  [k] kvm_tdp_mmu_young_range
     0.78%  [k] idle_win_is_huge
     0.67%  [k] do_sys_poll
     0.61%  [k] kvm_young_range_report
     0.56%  [k] _raw_spin_unlock_irq
     0.50%  [.] __GI___libc_write
     0.50%  [k] memset_orig
     0.50%  [k] pipe_read
     0.44%  [k] do_syscall_64
     0.44%  [k] handle_softirqs
     0.44%  [.] read
     0.39%  [k] __kmalloc_cache_node_noprof
     0.39%  [k] _find_next_bit
     0.39%  [k] fdget
     0.39%  [k] rep_movs_alternative


#
# (Tip: Use --symfs <dir> if your symbol files are in non-standard locations)
#
