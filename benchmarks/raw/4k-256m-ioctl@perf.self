# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 843  of event 'cpu-clock'
# Event count (approx.): 210750000
#
# Overhead  Symbol                            
# ........  ..................................
#
    62.40%  [k] lock_is_held_type
     4.86%  [k] ib_scan
     3.44%  [k] ib_next_change
     3.32%  [k] _find_next_zero_bit
     2.97%  [.] ib_take
     2.14%  [k] ib_end_stretch
     1.66%  [k] vm_normal_folio
     1.54%  [k] __bitmap_set
     1.30%  [k] debug_lockdep_rcu_enabled
     1.30%  [k] ib_young_pte
     1.30%  [k] rcu_lockdep_current_cpu_online
     1.19%  [k] rcu_read_lock_held_common
     1.07%  [k] ib_continue_at
     0.83%  [k] _find_next_bit
     0.71%  [k] is_accessed_spte
     0.71%  [k] kvm_tdp_mmu_young_range
     0.59%  [.] ib_count_extent
     0.59%  [k] kvm_young_range_report
     0.59%  [k] tdp_iter_next
     0.47%  [k] ib_end_huge
     0.47%  [k] ib_state
     0.47%  [k] kvm_tdp_mmu_read_spte
     0.47%  [k] lock_acquire
     0.47%  [k] rcu_read_lock_held
     0.36%  [k] finish_task_switch.isra.0
     0.36%  [k] ib_emit
     0.36%  [k] lock_release
     0.36%  [k] pte_pfn
     0.36%  [k] walk_pte_range_inner


#
# (Tip: Show current config key-value pairs: perf config --list)
#
