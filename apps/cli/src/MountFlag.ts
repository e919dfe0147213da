/**
 * MountFlag: docker's `--mount` value (`type=volume,src=data,dst=/data,readonly`) and `--tmpfs`
 * value (`/run:rw,size=64m`) as the Engine API's `HostConfig.Mounts` element and `Tmpfs` entry.
 * Throws Error with docker's message on a bad value.
 *
 * @since 0.1.0
 */
import { ramInBytes } from "./units.ts";

/** ApiMount is the `HostConfig.Mounts` element docker's CLI sends (empty fields omitted). */
export interface ApiMount {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string>;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
    Subpath?: string;
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

function parseBoolValue(key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  switch (value.toLowerCase()) {
    case "1":
    case "true":
      return true;
    case "0":
    case "false":
      return false;
    default:
      throw new Error(`invalid value for ${key}: ${value}`);
  }
}

/** parseMountFlag parses one `--mount` value as docker's `opts.MountOpt.Set`. */
export function parseMountFlag(value: string): ApiMount {
  const m: ApiMount = { Type: "volume" };
  const volumeOptions = () => {
    m.VolumeOptions ??= {};
    return m.VolumeOptions;
  };
  const fields = value.split(",").filter((f) => f !== "");
  for (const field of fields) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && !["readonly", "ro", "volume-nocopy", "bind-nonrecursive"].includes(key))
      throw new Error(`invalid field '${field}' must be a key=value pair`);
    switch (key) {
      case "type":
        m.Type = (val as string).toLowerCase();
        break;
      case "source":
      case "src":
        m.Source = val as string;
        break;
      case "target":
      case "dst":
      case "destination":
        m.Target = val as string;
        break;
      case "readonly":
      case "ro":
        m.ReadOnly = parseBoolValue(key, val);
        break;
      case "consistency":
        m.Consistency = val as string;
        break;
      case "bind-propagation":
        m.BindOptions = { ...m.BindOptions, Propagation: (val as string).toLowerCase() };
        break;
      case "bind-nonrecursive":
        m.BindOptions = { ...m.BindOptions, NonRecursive: parseBoolValue(key, val) };
        break;
      case "bind-create-mountpoint":
        m.BindOptions = { ...m.BindOptions, CreateMountpoint: parseBoolValue(key, val) };
        break;
      case "volume-nocopy":
        volumeOptions().NoCopy = parseBoolValue(key, val);
        break;
      case "volume-label": {
        const v = val as string;
        const i = v.indexOf("=");
        const o = volumeOptions();
        o.Labels = { ...o.Labels, [i < 0 ? v : v.slice(0, i)]: i < 0 ? "" : v.slice(i + 1) };
        break;
      }
      case "volume-driver":
        volumeOptions().DriverConfig = { ...volumeOptions().DriverConfig, Name: val as string };
        break;
      case "volume-opt": {
        const v = val as string;
        const i = v.indexOf("=");
        const dc = volumeOptions().DriverConfig ?? {};
        dc.Options = { ...dc.Options, [i < 0 ? v : v.slice(0, i)]: i < 0 ? "" : v.slice(i + 1) };
        volumeOptions().DriverConfig = dc;
        break;
      }
      case "volume-subpath":
        volumeOptions().Subpath = val as string;
        break;
      case "tmpfs-size":
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: ramInBytes(val as string) };
        break;
      case "tmpfs-mode": {
        if (!/^[0-7]+$/.test(val as string)) throw new Error(`invalid value for ${key}: ${val}`);
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: Number.parseInt(val as string, 8) };
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (m.Type === "") throw new Error("type is required");
  if (m.Target === undefined || m.Target === "") throw new Error("target is required");
  if (m.VolumeOptions && m.Type !== "volume")
    throw new Error(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== "bind")
    throw new Error(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== "tmpfs")
    throw new Error(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}

/** parseTmpfsFlag parses one `--tmpfs` value: `/path[:options]`. */
export function parseTmpfsFlag(value: string): [string, string] {
  const i = value.indexOf(":");
  return i < 0 ? [value, ""] : [value.slice(0, i), value.slice(i + 1)];
}
