# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 1K of event 'cpu-clock'
# Event count (approx.): 460500000
#
# Overhead  Symbol                                    
# ........  ..........................................
#
    47.61%  [k] pv_native_safe_halt
    10.10%  [k] tdp_mmu_young_pt.constprop.0
     5.10%  [k] vm_normal_folio
     3.96%  [k] finish_task_switch.isra.0
     3.85%  [k] idle_young_pmd
     3.58%  [k] generic_exec_single
     2.55%  [k] tdp_mmu_clear_young_lockless
     1.85%  [k] idle_bitmap_scan
     1.74%  [k] _raw_spin_unlock_irqrestore
     0.98%  [k] _find_next_bit
     0.71%  [k] idle_enc_flush_mixed
     0.60%  [k] idle_enc_end_stretch
     0.54%  [k] kvm_young_range_report_pt
     0.54%  [.] memcpy
     0.54%  [k] rep_movs_alternative
     0.49%  [k] idle_enc_continue_at
     0.38%  [k] sched_balance_rq
     0.38%  [k] x64_sys_call


#
# (Tip: For memory address profiling, try: perf mem record / perf mem report)
#
