use super::*;
use crate::test_frames::frame;

#[test]
fn delivers_frames_in_order_then_ends() {
    let (mut sink, mut source) = channel(4);
    let producer = std::thread::spawn(move || {
        for seq in 0..10 {
            sink.send(frame("cam", seq)).unwrap();
        }
    });
    let mut received = Vec::new();
    while let Some(msg) = source.recv().unwrap() {
        received.push(msg.header.sequence);
    }
    producer.join().unwrap();
    assert_eq!(received, (0..10).collect::<Vec<_>>());
}

#[test]
fn full_channel_blocks_the_sender() {
    let (mut sink, mut source) = channel(1);
    sink.send(frame("cam", 0)).unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let producer = std::thread::spawn(move || {
        sink.send(frame("cam", 1)).unwrap();
        done_tx.send(()).unwrap();
    });
    // The second send cannot complete while the first frame is still queued.
    assert!(done_rx.recv_timeout(std::time::Duration::from_millis(200)).is_err());
    assert_eq!(source.recv().unwrap().unwrap().header.sequence, 0);
    done_rx.recv().unwrap();
    producer.join().unwrap();
}

#[test]
fn send_after_the_source_is_gone_reports_closed() {
    let (mut sink, source) = channel(1);
    drop(source);
    assert!(matches!(sink.send(frame("cam", 0)), Err(TransportError::Closed)));
}

#[test]
fn try_recv_takes_only_what_is_waiting() {
    let (mut sink, mut source) = channel(4);
    assert!(source.try_recv().unwrap().is_none());
    sink.send(frame("cam", 0)).unwrap();
    sink.send(frame("cam", 1)).unwrap();
    assert_eq!(source.try_recv().unwrap().unwrap().header.sequence, 0);
    assert_eq!(source.try_recv().unwrap().unwrap().header.sequence, 1);
    assert!(source.try_recv().unwrap().is_none());
}
