//! Each output decoder run end to end through ONNX Runtime on a small ONNX graph built here,
//! whose outputs are constants we chose: the whole path from session to boxes is checked
//! against answers known by construction.

mod common;

use std::path::Path;

use canvass_detector::model::sha256_hex;
use canvass_detector::{Manifest, Model};
use canvass_schemas::ObjectClass;

/// Just enough protobuf to write an ONNX ModelProto.
mod onnx {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn int(field: u32, v: u64, out: &mut Vec<u8>) {
        varint((field as u64) << 3, out);
        varint(v, out);
    }

    fn bytes(field: u32, data: &[u8], out: &mut Vec<u8>) {
        varint(((field as u64) << 3) | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    const FLOAT: u64 = 1;

    fn tensor(name: &str, dims: &[usize], values: &[f32]) -> Vec<u8> {
        assert_eq!(dims.iter().product::<usize>(), values.len());
        let mut t = Vec::new();
        for &d in dims {
            int(1, d as u64, &mut t);
        }
        int(2, FLOAT, &mut t);
        bytes(8, name.as_bytes(), &mut t);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes(9, &raw, &mut t);
        t
    }

    /// A tensor's shape; a dimension of 0 is the symbolic batch dimension "N".
    fn value_info(name: &str, dims: &[usize]) -> Vec<u8> {
        let mut shape = Vec::new();
        for &d in dims {
            let mut dim = Vec::new();
            if d == 0 {
                bytes(2, b"N", &mut dim);
            } else {
                int(1, d as u64, &mut dim);
            }
            bytes(1, &dim, &mut shape);
        }
        let mut tensor_type = Vec::new();
        int(1, FLOAT, &mut tensor_type);
        bytes(2, &shape, &mut tensor_type);
        let mut type_proto = Vec::new();
        bytes(1, &tensor_type, &mut type_proto);
        let mut v = Vec::new();
        bytes(1, name.as_bytes(), &mut v);
        bytes(2, &type_proto, &mut v);
        v
    }

    fn node(op: &str, inputs: &[&str], output: &str) -> Vec<u8> {
        let mut node = Vec::new();
        for input in inputs {
            bytes(1, input.as_bytes(), &mut node);
        }
        bytes(2, output.as_bytes(), &mut node);
        bytes(4, op.as_bytes(), &mut node);
        node
    }

    fn wrap_graph(graph: Vec<u8>) -> Vec<u8> {
        let mut model = Vec::new();
        int(1, 8, &mut model);
        bytes(7, &graph, &mut model);
        let mut opset = Vec::new();
        int(2, 17, &mut opset);
        bytes(8, &opset, &mut model);
        model
    }

    /// A dynamic-batch model `[N, 3, S, S] -> [N, 7, S * S]`: a 1x1 convolution with `weights`
    /// `[7][3]` and `bias` `[7]`, reshaped so that each pixel is one Ultralytics anchor.
    pub fn pixelwise_model(size: usize, weights: [[f32; 3]; 7], bias: [f32; 7]) -> Vec<u8> {
        let mut graph = Vec::new();
        bytes(1, &node("Conv", &["images", "W", "B"], "conv"), &mut graph);
        bytes(1, &node("Reshape", &["conv", "shape"], "output0"), &mut graph);
        bytes(2, b"pixelwise", &mut graph);
        let w: Vec<f32> = weights.iter().flatten().copied().collect();
        bytes(5, &tensor("W", &[7, 3, 1, 1], &w), &mut graph);
        bytes(5, &tensor("B", &[7], &bias), &mut graph);
        let mut shape = Vec::new();
        int(1, 3, &mut shape);
        int(2, 7, &mut shape); // INT64
        bytes(8, b"shape", &mut shape);
        let raw: Vec<u8> = [0i64, 7, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes(9, &raw, &mut shape);
        bytes(5, &shape, &mut graph);
        bytes(11, &value_info("images", &[0, 3, size, size]), &mut graph);
        bytes(12, &value_info("output0", &[0, 7, size * size]), &mut graph);
        wrap_graph(graph)
    }

    /// A model with one float input (ignored) and constant outputs.
    pub fn constant_model(
        input: (&str, &[usize]),
        outputs: &[(&str, Vec<usize>, Vec<f32>)],
        metadata: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut graph = Vec::new();
        for (name, dims, values) in outputs {
            let mut attribute = Vec::new();
            bytes(1, b"value", &mut attribute);
            bytes(5, &tensor(name, dims, values), &mut attribute);
            int(20, 4, &mut attribute); // AttributeType TENSOR
            let mut node = Vec::new();
            bytes(2, name.as_bytes(), &mut node);
            bytes(4, b"Constant", &mut node);
            bytes(5, &attribute, &mut node);
            bytes(1, &node, &mut graph);
        }
        bytes(2, b"canvass-test", &mut graph);
        bytes(11, &value_info(input.0, input.1), &mut graph);
        for (name, dims, _) in outputs {
            bytes(12, &value_info(name, dims), &mut graph);
        }
        let mut model = Vec::new();
        int(1, 8, &mut model); // IR version 8
        bytes(7, &graph, &mut model);
        let mut opset = Vec::new();
        int(2, 17, &mut opset);
        bytes(8, &opset, &mut model);
        for (key, value) in metadata {
            let mut entry = Vec::new();
            bytes(1, key.as_bytes(), &mut entry);
            bytes(2, value.as_bytes(), &mut entry);
            bytes(14, &entry, &mut model);
        }
        model
    }
}

/// Writes `onnx` to a temporary models folder and loads it through a manifest.
fn load(
    dir: &Path,
    onnx: &[u8],
    format: &str,
    strides: &str,
    size: u32,
    classes: &[&str],
    taxonomy: &str,
) -> Result<Model, canvass_detector::DetectorError> {
    common::assets(); // loads ONNX Runtime
    std::fs::write(dir.join("test.onnx"), onnx).unwrap();
    let classes = classes.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ");
    let text = format!(
        r#"name = "test-model"
version = "1"
role = "vehicle"
file = "test.onnx"
sha256 = "{sha}"
url = "-"
licence = "test"
classes = [{classes}]
[input]
name = "images"
width = {size}
height = {size}
colour_order = "rgb"
resize = "stretch"
scale = 1.0
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
[output]
format = "{format}"
strides = {strides}
[taxonomy]
{taxonomy}
[thresholds]
default = 0.3
"#,
        sha = sha256_hex(onnx)
    );
    let manifest = Manifest::parse(&text, Path::new("test.toml")).unwrap();
    Model::load(manifest, dir, 1)
}

fn frame(size: u32) -> image::RgbImage {
    image::RgbImage::from_pixel(size, size, image::Rgb([0, 0, 0]))
}

fn assert_box(got: [f32; 4], expected: [f32; 4]) {
    assert!(got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 1e-3), "{got:?} vs {expected:?}");
}

#[test]
fn yolox_graph_through_onnx_runtime() {
    let dir = tempfile::tempdir().unwrap();
    // 32x32 input, strides 8/16/32: 21 anchors x (5 + 2 classes).
    let mut values = vec![0f32; 21 * 7];
    // Anchor 5: stride 8, cell (1, 1); centre 12, 12; size 16 x 16; class 1 at 0.9 x 0.8.
    values[5 * 7..6 * 7].copy_from_slice(&[0.5, 0.5, 2f32.ln(), 2f32.ln(), 0.9, 0.1, 0.8]);
    let onnx = onnx::constant_model(("images", &[1, 3, 32, 32]), &[("output", vec![1, 21, 7], values)], &[]);
    let taxonomy = "bus = \"bus\"\ncar = \"car\"";
    let mut model = load(dir.path(), &onnx, "yolox", "[8, 16, 32]", 32, &["bus", "car"], taxonomy).unwrap();
    let dets = model.detect(&frame(32)).unwrap();
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_eq!(dets[0].class, ObjectClass::Car);
    assert!((dets[0].score - 0.72).abs() < 1e-5);
    assert_box(dets[0].bbox, [4.0, 4.0, 20.0, 20.0]);
}

#[test]
fn ultralytics_graph_with_names_metadata() {
    let dir = tempfile::tempdir().unwrap();
    // [1, 4 + 3 classes, 6 anchors]; anchor 2 is a knife at (100, 50) 40 x 20.
    let mut values = vec![0f32; 7 * 6];
    for (row, v) in [100.0, 50.0, 40.0, 20.0, 0.9, 0.1, 0.2].iter().enumerate() {
        values[row * 6 + 2] = *v;
    }
    let names = [("names", "{0: 'Knife', 1: 'Pistol', 2: 'rifle'}")];
    let onnx =
        onnx::constant_model(("images", &[1, 3, 256, 256]), &[("output0", vec![1, 7, 6], values)], &names);
    let taxonomy = "Knife = \"knife\"\nPistol = \"handgun\"\nrifle = \"long_gun\"";
    let classes = ["Knife", "Pistol", "rifle"];
    let mut model = load(dir.path(), &onnx, "ultralytics", "[8, 16, 32]", 256, &classes, taxonomy).unwrap();
    let dets = model.detect(&frame(256)).unwrap();
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_eq!((dets[0].class, dets[0].model_class.as_str()), (ObjectClass::Knife, "Knife"));
    assert_box(dets[0].bbox, [80.0, 40.0, 120.0, 60.0]);

    // The same graph under a manifest that lists the classes in another order is refused.
    let swapped = ["Pistol", "Knife", "rifle"];
    let Err(err) = load(dir.path(), &onnx, "ultralytics", "[8, 16, 32]", 256, &swapped, taxonomy) else {
        panic!("metadata names not checked")
    };
    assert!(err.to_string().contains("differ from the manifest"), "{err}");
}

#[test]
fn gfl_graph_through_onnx_runtime() {
    let dir = tempfile::tempdir().unwrap();
    // 32x32 input, strides 16/32: scores [1,4,1] and [1,1,1], boxes [1,4,16] and [1,1,16].
    let mut s16 = vec![0f32; 4];
    s16[3] = 0.9;
    let mut b16 = vec![-50f32; 4 * 16];
    for (side, bin) in [1usize, 2, 0, 3].iter().enumerate() {
        b16[3 * 16 + side * 4 + bin] = 50.0;
    }
    let outputs = [
        ("scores16", vec![1, 4, 1], s16),
        ("scores32", vec![1, 1, 1], vec![0.0]),
        ("boxes16", vec![1, 4, 16], b16),
        ("boxes32", vec![1, 1, 16], vec![0.0; 16]),
    ];
    let onnx = onnx::constant_model(("images", &[1, 3, 32, 32]), &outputs, &[]);
    let mut model = load(dir.path(), &onnx, "gfl", "[16, 32]", 32, &["car"], "car = \"car\"").unwrap();
    let dets = model.detect(&frame(32)).unwrap();
    assert_eq!(dets.len(), 1, "{dets:?}");
    // Point 3 is cell (1, 1) of stride 16, centre (24, 24); distances 16, 32, 0, 48, clamped
    // to the 32x32 frame.
    assert_box(dets[0].bbox, [8.0, 0.0, 24.0, 32.0]);
}

#[test]
fn a_face_class_in_a_real_session_never_reaches_a_detection() {
    let dir = tempfile::tempdir().unwrap();
    // Ultralytics layout, classes face and car: anchor 0 is a confident face, anchor 1 a car.
    let mut values = vec![0f32; 6 * 2];
    for (row, v) in [50.0, 50.0, 20.0, 20.0, 0.99, 0.0].iter().enumerate() {
        values[row * 2] = *v;
    }
    for (row, v) in [150.0, 150.0, 40.0, 20.0, 0.0, 0.7].iter().enumerate() {
        values[row * 2 + 1] = *v;
    }
    let onnx =
        onnx::constant_model(("images", &[1, 3, 256, 256]), &[("output0", vec![1, 6, 2], values)], &[]);
    let mut model =
        load(dir.path(), &onnx, "ultralytics", "[8]", 256, &["face", "car"], "car = \"car\"").unwrap();
    assert_eq!(model.class_map.stripped, vec!["face".to_string()]);
    let dets = model.detect(&frame(256)).unwrap();
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_eq!(dets[0].class, ObjectClass::Car);
}

#[test]
fn frames_that_queue_up_share_one_run_and_keep_their_own_detections() {
    let dir = tempfile::tempdir().unwrap();
    // Each pixel is an anchor: centre x from red, centre y from green, a 2 x 2 box, and the
    // class 0 score from blue / 255. One lit pixel per frame places one object.
    let mut weights = [[0f32; 3]; 7];
    weights[0][0] = 1.0;
    weights[1][1] = 1.0;
    weights[4][2] = 1.0 / 255.0;
    let bias = [0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.0];
    let onnx = onnx::pixelwise_model(32, weights, bias);
    let classes = ["Knife", "Pistol", "rifle"];
    let taxonomy = "Knife = \"knife\"";
    let mut model = load(dir.path(), &onnx, "ultralytics", "[8]", 32, &classes, taxonomy).unwrap();
    assert!(model.batchable());
    let frames: Vec<image::RgbImage> = (0..5u8)
        .map(|i| {
            let mut f = frame(32);
            f.put_pixel(i as u32, 0, image::Rgb([8 + 4 * i, 16, 255]));
            f
        })
        .collect();
    let refs: Vec<&image::RgbImage> = frames.iter().collect();
    let batched = model.detect_batch(&refs).unwrap();
    assert_eq!(batched.len(), 5);
    for (i, dets) in batched.iter().enumerate() {
        assert_eq!(dets.len(), 1, "frame {i}: {dets:?}");
        let cx = 8.0 + 4.0 * i as f32;
        assert_box(dets[0].bbox, [cx - 1.0, 15.0, cx + 1.0, 17.0]);
        assert_eq!(dets[0], model.detect(&frames[i]).unwrap()[0], "batched and single runs agree");
    }
}
