//! Fast tests against librdkafka's in-process mock cluster (`rdkafka::mocking`). The tests in
//! `tests/distributed.rs` run the workers against a real broker (tansu).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::*;
use crate::FrameSink;
use crate::test_frames::frame;

struct Fixed(HashMap<i32, i64>);
impl PartitionOffsets for Fixed {
    fn start_offset(&self, partition: i32) -> Option<i64> {
        self.0.get(&partition).copied()
    }
}

fn settings(cluster: &MockCluster<'_, DefaultProducerContext>, group: &str) -> KafkaSettings {
    let settings =
        KafkaSettings { brokers: cluster.bootstrap_servers(), group: group.into(), ..Default::default() };
    for topic in [&settings.topics.frames, &settings.topics.dead_letter] {
        cluster.create_topic(topic, 4, 1).unwrap();
    }
    settings
}

/// Everything the consumer delivers until `want` messages came or 30 s passed.
fn drain(consumer: &FrameConsumer, want: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        if let Some(delivery) = consumer.poll(Duration::from_millis(200)).unwrap() {
            got.push(delivery);
        }
    }
    got
}

#[test]
fn frames_and_ends_arrive_in_order_per_source_and_junk_is_malformed() {
    let cluster = MockCluster::new(1).unwrap();
    let settings = settings(&cluster, "g1");
    let producer = Producer::for_frames(&settings).unwrap();
    let mut sink = KafkaFrameSink::new(producer.clone(), &settings);
    for seq in 0..5 {
        sink.send(frame("north", seq)).unwrap();
        sink.send(frame("south", seq)).unwrap();
    }
    sink.end_input("north", "north.mp4").unwrap();
    producer.send(&settings.topics.frames, b"north", b"not a frame", producer::kind(KIND_FRAME)).unwrap();
    producer.send(&settings.topics.frames, b"north", b"{}", rdkafka::message::OwnedHeaders::new()).unwrap();
    sink.flush().unwrap();

    let consumer = FrameConsumer::new(&settings, Arc::new(Fixed(HashMap::new()))).unwrap();
    let got = drain(&consumer, 13);
    assert_eq!(got.len(), 13);
    assert!(consumer.take_rebalances().iter().any(|r| matches!(r, Rebalance::Assigned(p) if p.len() == 4)));
    let mut per_source: HashMap<String, Vec<u64>> = HashMap::new();
    let mut partitions: HashMap<String, i32> = HashMap::new();
    let mut reasons = Vec::new();
    for delivery in &got {
        match delivery {
            Delivery::Frame { partition, frame, .. } => {
                per_source.entry(frame.header.source_id.clone()).or_default().push(frame.header.sequence);
                let p = *partitions.entry(frame.header.source_id.clone()).or_insert(*partition);
                assert_eq!(p, *partition, "one source, one partition");
            }
            Delivery::EndOfInput { end, .. } => assert_eq!(end.input, "north.mp4"),
            Delivery::Malformed { reason, payload, .. } => reasons.push((reason.clone(), payload.clone())),
        }
    }
    assert_eq!(per_source["north"], vec![0, 1, 2, 3, 4]);
    assert_eq!(per_source["south"], vec![0, 1, 2, 3, 4]);
    reasons.sort();
    assert!(reasons[0].0.starts_with("malformed frame message"), "{reasons:?}");
    assert_eq!(reasons[0].1, b"not a frame");
    assert!(reasons[1].0.contains("no canvass-kind header"), "{reasons:?}");
}

#[test]
fn a_partition_starts_where_the_workers_checkpoint_says() {
    let cluster = MockCluster::new(1).unwrap();
    let settings = settings(&cluster, "g2");
    cluster.create_topic("one", 1, 1).unwrap();
    let settings =
        KafkaSettings { topics: Topics { frames: "one".into(), ..settings.topics.clone() }, ..settings };
    let mut sink = KafkaFrameSink::new(Producer::for_frames(&settings).unwrap(), &settings);
    for seq in 0..6 {
        sink.send(frame("cam", seq)).unwrap();
    }
    sink.flush().unwrap();
    let consumer = FrameConsumer::new(&settings, Arc::new(Fixed(HashMap::from([(0, 4)])))).unwrap();
    let got = drain(&consumer, 2);
    let offsets: Vec<i64> = got.iter().map(|d| d.position().1).collect();
    assert_eq!(offsets, vec![4, 5]);
    assert!(consumer.poll(Duration::from_millis(500)).unwrap().is_none(), "nothing before the checkpoint");
}
