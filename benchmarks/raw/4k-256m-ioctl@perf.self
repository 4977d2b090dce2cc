# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 9K of event 'cpu-clock'
# Event count (approx.): 2378500000
#
# Overhead  Symbol                                    
# ........  ..........................................
#
    46.25%  [k] pv_native_safe_halt
    11.14%  [k] idle_bitmap_scan
     6.18%  [k] tdp_mmu_young_pt.constprop.0
     4.80%  [.] ib_take
     4.61%  [k] idle_enc_end_stretch
     3.92%  [k] vm_normal_folio
     3.14%  [k] idle_win_state
     2.92%  [k] idle_young_pmd
     2.56%  [.] ib_count_extent
     2.17%  [k] idle_enc_continue_at
     1.50%  [k] idle_enc_end_huge
     0.95%  [k] finish_task_switch.isra.0
     0.71%  [k] _raw_spin_unlock_irqrestore
     0.56%  [k] handle_softirqs
     0.47%  [k] rep_movs_alternative
     0.46%  [.] memcpy
     0.40%  [k] generic_exec_single
     0.38%  [k] vm_normal_page
     0.34%  [k] idle_enc_emit
     0.32%  [k] idle_enc_flush_mixed
     0.32%  [k] sched_balance_rq


#
# (Tip: Profiling branch (mis)predictions with: perf record -b / perf report)
#
