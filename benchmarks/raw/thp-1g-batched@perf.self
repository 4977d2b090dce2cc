# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 2K of event 'cpu-clock'
# Event count (approx.): 731250000
#
# Overhead  Symbol                                   
# ........  .........................................
#
    48.24%  [k] pv_native_safe_halt
    10.26%  [k] rep_movs_alternative
     9.81%  [k] pagemap_pmd_range
     5.44%  [.] pi_pass_batched
     2.56%  [k] page_idle_get_folio
     1.61%  [k] pfn_to_online_page
     1.40%  [k] page_idle_bitmap_read
     1.06%  [k] __cond_resched
     0.99%  [k] _raw_spin_unlock_irqrestore
     0.92%  [.] __libc_pread
     0.85%  [k] do_syscall_64
     0.79%  [.] memset
     0.68%  [k] kvm_mmu_notifier_clear_young
     0.65%  [k] mt_find
     0.65%  [k] page_idle_bitmap_write
     0.62%  [k] kvm_tdp_mmu_age_gfn_range
     0.58%  [k] finish_task_switch.isra.0
     0.55%  [k] fdget
     0.55%  [k] stable_page_flags
     0.51%  [k] kernfs_fop_write_iter
     0.48%  [k] kernfs_fop_read_iter
     0.48%  [k] page_vma_mapped_walk
     0.38%  [k] __kmalloc_noprof
     0.38%  [k] __rcu_read_lock
     0.34%  [k] __x64_sys_pread64
     0.31%  [.] __libc_pwrite
     0.31%  [k] _copy_to_iter
     0.31%  [k] _copy_to_user
     0.31%  [k] page_idle_clear_pte_refs_one
     0.31%  [k] rmap_walk_anon


#
# (Tip: List events using substring match: perf list <keyword>)
#
