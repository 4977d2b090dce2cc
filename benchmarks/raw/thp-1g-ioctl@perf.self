# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 3K of event 'cpu-clock'
# Event count (approx.): 837750000
#
# Overhead  Symbol                                    
# ........  ..........................................
#
    39.87%  [k] pv_native_safe_halt
     7.22%  [k] finish_task_switch.isra.0
     6.18%  [k] _raw_spin_unlock_irqrestore
     4.18%  [k] generic_exec_single
     1.40%  [k] idle_bitmap_scan
     1.37%  [k] handle_softirqs
     1.34%  [k] __bitmap_set
     1.28%  [k] sched_balance_rq
     1.13%  [k] _find_next_zero_bit
     1.10%  [k] idle_young_pmd
     0.87%  [k] rep_movs_alternative
     0.84%  [k] idle_win_is_huge
     0.78%  [k] kvm_tdp_mmu_young_range
     0.72%  [k] _raw_spin_unlock_irq
     0.63%  [k] memset_orig
     0.51%  [k] tick_nohz_idle_exit
     0.48%  [k] __bitmap_or
     0.48%  [k] do_idle
     0.48%  [k] update_sd_lb_stats.constprop.0
     0.45%  [.] __GI___libc_write
     0.45%  [k] pipe_write
     0.42%  [k] __schedule
     0.42%  [k] __x64_sys_ioctl
     0.42%  [k] sched_balance_update_blocked_averages
     0.39%  [k] do_syscall_64
     0.39%  [k] exc_page_fault
     0.39%  [k] fdget
     0.39%  [k] kvm_young_range_report
     0.33%  [k] _find_next_bit
     0.33%  [.] ib_take
     0.33%  [.] read
     0.33%  [.] sched_setaffinity@@GLIBC_2.3.4
     0.33%  [k] vfs_write


#
# (Tip: To see list of saved events and attributes: perf evlist -v)
#
