import ArgumentParser
import CNMConvert

/// `--preset`: the presets of `Preset.all`, by name.
enum PresetChoice: String, CaseIterable, ExpressibleByArgument {
    case cifar10, imagenet

    var preset: Preset {
        switch self {
        case .cifar10: .cifar10
        case .imagenet: .imagenet
        }
    }
}

/// `--calibration-method`: the raw values of `CalibrationMethod`.
extension CalibrationMethod: ExpressibleByArgument {}

/// `--weight-bits`: int8 weights of 8 bits (-127...127) or 7 (-63...63).
enum WeightBits: String, CaseIterable, ExpressibleByArgument {
    case eight = "8", seven = "7"

    var bits: Int { self == .seven ? 7 : 8 }
}
