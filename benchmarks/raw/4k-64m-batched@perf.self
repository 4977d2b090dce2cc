# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 7K of event 'cpu-clock'
# Event count (approx.): 1901500000
#
# Overhead  Symbol                                     
# ........  ...........................................
#
    47.42%  [k] pv_native_safe_halt
     5.60%  [k] page_vma_mapped_walk
     5.32%  [k] kvm_tdp_mmu_age_gfn_range
     4.61%  [k] kvm_mmu_notifier_clear_young
     2.50%  [k] rmap_walk_anon
     2.45%  [k] page_idle_clear_pte_refs_one
     2.33%  [k] __mmu_notifier_clear_young
     2.33%  [k] page_idle_get_folio
     2.04%  [k] tdp_iter_next
     1.60%  [k] folio_lock_anon_vma_read
     1.58%  [k] __rcu_read_lock
     1.34%  [k] __rcu_read_unlock
     1.22%  [k] interval_tree_iter_first
     1.18%  [k] kvm_age_gfn
     1.18%  [k] pte_offset_map_nolock
     1.03%  [k] page_idle_bitmap_read
     0.95%  [k] up_read
     0.89%  [k] __srcu_read_lock
     0.82%  [k] __cond_resched
     0.75%  [k] down_read_trylock
     0.75%  [k] pfn_to_online_page
     0.64%  [k] _raw_write_lock
     0.64%  [k] anon_vma_interval_tree_iter_first
     0.62%  [k] _raw_spin_lock
     0.55%  [k] page_idle_bitmap_write
     0.54%  [k] __pte_offset_map
     0.51%  [k] rep_movs_alternative
     0.47%  [k] __srcu_read_unlock
     0.42%  [k] rmap_walk
     0.39%  [k] interval_tree_iter_next
     0.38%  [k] _raw_write_unlock
     0.38%  [.] pi_pass_batched
     0.37%  [k] finish_task_switch.isra.0
     0.35%  [k] page_idle_clear_pte_refs
     0.33%  [k] pagemap_pmd_range
     0.32%  [k] check_pte
     0.30%  [k] anon_vma_interval_tree_iter_next


#
# (Tip: For a higher level overview, try: perf report --sort comm,dso)
#
