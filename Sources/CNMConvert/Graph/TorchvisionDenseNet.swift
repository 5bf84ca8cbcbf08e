import Foundation

/// torchvision's DenseNet state_dict (DenseNet-121/169/201/161 and any growth rate or block
/// configuration) in the official CondenseNet code's names, so that one converter emits every
/// dense network:
///
///     features.conv0 / norm0                      -> features.init_conv / init_norm (+ ReLU, 3x3/2 max pool)
///     features.denseblockN.denselayerM.norm1|conv1|norm2|conv2
///                                                 -> features.denseblock_N.denselayer_M.conv_1|2.norm|conv
///     features.transitionN.norm|conv              -> features.transition_N.conv.norm|conv
///     features.norm5                              -> features.norm_last
///     classifier                                  -> classifier
///
/// The spelling of torchvision before 0.4 (`norm.1`, `conv.2`, ...) is accepted too.
enum TorchvisionDenseNet {
    static func matches(_ keys: [String]) -> Bool { keys.contains("features.conv0.weight") }

    /// The official name of a torchvision key; keys it does not know are kept (and then reported
    /// as unexpected by the converter).
    static func officialName(_ key: String) -> String {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // old spelling: "norm", "1" -> "norm1" inside dense layers
        if parts.count >= 2, parts[0] == "features", parts[1].hasPrefix("denseblock") {
            var merged: [String] = []
            var i = 0
            while i < parts.count {
                if i + 1 < parts.count, ["norm", "relu", "conv"].contains(parts[i]), ["1", "2"].contains(parts[i + 1]) {
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                } else {
                    merged.append(parts[i])
                    i += 1
                }
            }
            parts = merged
        }
        guard parts.count >= 3, parts[0] == "features" else { return key }
        let rest = parts[2...].joined(separator: ".")
        switch parts[1] {
        case "conv0": return "features.init_conv." + rest
        case "norm0": return "features.init_norm." + rest
        case "norm5": return "features.norm_last." + rest
        case let s where s.hasPrefix("transition"):
            guard let n = Int(s.dropFirst("transition".count)), ["norm", "conv"].contains(parts[2]) else { return key }
            return "features.transition_\(n).conv." + rest
        case let s where s.hasPrefix("denseblock"):
            guard let n = Int(s.dropFirst("denseblock".count)), parts.count >= 4, parts[2].hasPrefix("denselayer"),
                  let m = Int(parts[2].dropFirst("denselayer".count)) else { return key }
            let sub = parts[3]
            guard sub.count == 5, let which = sub.last, which == "1" || which == "2" else { return key }
            let kind = String(sub.dropLast())
            guard kind == "norm" || kind == "conv" else { return key }
            return "features.denseblock_\(n).denselayer_\(m).conv_\(which).\(kind)." + parts[4...].joined(separator: ".")
        default: return key
        }
    }
}

extension TorchCheckpoint {
    /// The same checkpoint with every key renamed (a name clash is an error).
    func renamingKeys(_ rename: (String) -> String) throws -> TorchCheckpoint {
        var renamed: [String: Tensor] = [:], order: [String] = []
        for k in keys {
            let n = rename(k)
            guard renamed[n] == nil else { throw ConvertError("\(path): keys '\(k)' and another both map to '\(n)'") }
            renamed[n] = tensors[k]
            order.append(n)
        }
        return TorchCheckpoint(path: path, keys: order, tensors: renamed, extras: extras)
    }
}
