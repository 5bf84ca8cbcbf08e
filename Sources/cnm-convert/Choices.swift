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
