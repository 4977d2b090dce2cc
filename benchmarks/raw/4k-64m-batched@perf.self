# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 2K of event 'cpu-clock'
# Event count (approx.): 525500000
#
# Overhead  Symbol                                     
# ........  ...........................................
#
    49.14%  [k] pv_native_safe_halt
     7.85%  [k] page_vma_mapped_walk
     6.28%  [k] kvm_tdp_mmu_age_gfn_range
     5.28%  [k] kvm_mmu_notifier_clear_young
     2.47%  [k] __mmu_notifier_clear_young
     2.09%  [k] rmap_walk_anon
     1.71%  [k] __rcu_read_lock
     1.67%  [k] tdp_iter_next
     1.52%  [k] page_idle_clear_pte_refs_one
     1.47%  [k] page_idle_get_folio
     1.38%  [k] __rcu_read_unlock
     1.28%  [k] interval_tree_iter_first
     1.19%  [k] folio_lock_anon_vma_read
     1.09%  [k] pte_offset_map_nolock
     0.81%  [k] __srcu_read_lock
     0.81%  [k] down_read_trylock
     0.81%  [k] kvm_age_gfn
     0.76%  [k] page_idle_bitmap_write
     0.71%  [k] check_pte
     0.71%  [.] pi_pass_batched
     0.67%  [k] page_idle_bitmap_read
     0.62%  [k] _raw_spin_lock
     0.62%  [k] _raw_write_lock
     0.57%  [k] __cond_resched
     0.57%  [k] anon_vma_interval_tree_iter_first
     0.52%  [k] pfn_to_online_page
     0.48%  [k] pagemap_pmd_range
     0.43%  [k] up_read
     0.38%  [k] finish_task_switch.isra.0
     0.38%  [k] rep_movs_alternative
     0.33%  [k] _raw_write_unlock
     0.33%  [k] generic_exec_single
     0.33%  [k] interval_tree_iter_next


#
# (Tip: To show IPC for sampling periods use perf record -e '{cycles,instructions}:S' and then browse context)
#
