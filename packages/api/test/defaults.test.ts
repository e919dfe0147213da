import { describe, expect, expectTypeOf, it } from "vitest";
import { type HostConfig, type ZeroHostConfig, zeroHostConfig } from "../src/index.ts";

/** HostConfig of `docker run --rm bb echo hello` as docker v28 sent it (engine-api-traces/02). */
const TRACE_02 =
  '{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null}';

describe("zeroHostConfig", () => {
  it("is the trace's HostConfig, field order included, once the run's own values are laid over it", () => {
    const body = {
      ...zeroHostConfig(),
      NetworkMode: "default",
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
      AutoRemove: true,
      MemorySwappiness: -1,
      PidsLimit: 0,
    };
    expect(JSON.stringify(body)).toBe(TRACE_02);
  });

  it("returns a fresh object each call", () => {
    const a = zeroHostConfig();
    a.Dns?.push("1.1.1.1");
    a.LogConfig = null;
    expect(zeroHostConfig().Dns).toEqual([]);
    expect(zeroHostConfig().LogConfig).toEqual({ Type: "", Config: {} });
  });

  it("keeps the generated field types, widened only by null and an empty enum", () => {
    expectTypeOf<ZeroHostConfig["CgroupnsMode"]>().toEqualTypeOf<"private" | "host" | "" | null>();
    expectTypeOf<ZeroHostConfig["Memory"]>().toEqualTypeOf<number | null>();
    expectTypeOf<keyof ZeroHostConfig>().toMatchTypeOf<keyof HostConfig>();
  });
});
