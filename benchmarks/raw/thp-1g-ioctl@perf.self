# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 186  of event 'cpu-clock'
# Event count (approx.): 46500000
#
# Overhead  Symbol                                        
# ........  ..............................................
#
    24.73%  [k] lock_is_held_type
    13.44%  [k] lock_acquire
     8.06%  [k] lock_release
     6.99%  [k] ib_scan
     5.91%  [k] finish_task_switch.isra.0
     4.84%  [k] _raw_spin_unlock_irqrestore
     4.84%  [k] generic_exec_single
     2.15%  [k] do_syscall_64
     2.15%  [k] ib_young_pmd
     1.61%  [k] _find_next_zero_bit
     1.61%  [k] ib_emit
     1.08%  [.] __GI___ioctl
     1.08%  [k] __bitmap_set
     1.08%  [k] __mark_inode_dirty
     1.08%  [k] _find_next_bit
     1.08%  [k] seqcount_lockdep_reader_access.constprop.0
     1.08%  [k] syscall_exit_to_user_mode
     1.08%  [.] 0x00000000001c77e0
     0.54%  [.] __GI___pthread_disable_asynccancel
     0.54%  [k] __get_user_8
     0.54%  [.] __poll
     0.54%  [k] __x64_sys_ioctl
     0.54%  [k] _copy_to_user
     0.54%  [k] _raw_spin_unlock_irq
     0.54%  [k] atime_needs_update
     0.54%  [k] debug_lockdep_rcu_enabled
     0.54%  [k] fput
     0.54%  [k] generic_perform_write
     0.54%  [k] ib_continue_at
     0.54%  [k] inode_maybe_inc_iversion
     0.54%  [k] ksys_read
     0.54%  [k] ksys_write
     0.54%  [k] kvm_mmu_notifier_young_range
     0.54%  [k] mas_start
     0.54%  [.] memcpy
     0.54%  [k] mnt_get_write_access
     0.54%  [k] perf_event_ctx_lock_nested
     0.54%  [k] poll_freewait
     0.54%  [k] rcu_lockdep_current_cpu_online
     0.54%  [k] rep_movs_alternative
     0.54%  [.] sem_post@GLIBC_2.2.5
     0.54%  [k] syscall_exit_to_user_mode_prepare
     0.54%  [k] x64_sys_call
     0.54%  [.] 0x0000000000146f97
     0.54%  [.] 0x0000000000146ffe
     0.54%  [.] 0x0000000000158d6d
     0.54%  [.] 0x00000000001c6f30
     0.54%  [.] 0x00000000001dfbf0


#
# (Tip: To set sample time separation other than 100ms with --sort time use --time-quantum)
#
