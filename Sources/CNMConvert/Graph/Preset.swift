/// What a state_dict cannot hold: input size, stem stride, normalisation and labels.
public struct Preset: Sendable {
    public let name: String
    public let inputSize: Int
    public let stemStride: Int
    public let mean: [Float]
    public let std: [Float]
    public let labels: [String]?
    /// 0: direct bilinear resize; 1: shorter side + centre crop.
    public let resize: Int

    public static let cifar10 = Preset(
        name: "cifar10", inputSize: 32, stemStride: 1,
        mean: [0.4914, 0.4824, 0.4467], std: [0.2471, 0.2435, 0.2616],
        labels: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        resize: 0)

    /// ImageNet-shaped models: 224x224, stride-2 stem, the usual ImageNet statistics.
    /// Labels default to class_0..class_N-1 unless given with --labels.
    public static let imagenet = Preset(
        name: "imagenet", inputSize: 224, stemStride: 2,
        mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], labels: nil, resize: 1)

    public static let all = [cifar10, imagenet]

    public static func named(_ name: String) -> Preset? { all.first { $0.name == name } }

    public func with(mean: [Float]?, std: [Float]?, inputSize: Int? = nil) -> Preset {
        Preset(name: name, inputSize: inputSize ?? self.inputSize, stemStride: stemStride, mean: mean ?? self.mean,
               std: std ?? self.std, labels: labels, resize: resize)
    }
}
