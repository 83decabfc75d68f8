using Kraud.Agent.Kinds.Pod;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// The unit of a share's daemon is named as systemd's own tool names it: `systemd-escape --path --template` of the
/// share's environment file, so the unit's %f is that file (its ConditionPathExists= and EnvironmentFile=).
/// </summary>
public sealed class SystemdShareDaemonsTests
{
    [Theory]
    [InlineData("/run/kraud/vm/pod-fs/fs0.env")]
    [InlineData("/run/kraud/vm/web.1_a/fs12.env")]
    [InlineData("/tmp/kraud pods/x/fs0.env")]
    public void The_unit_of_a_share_is_the_template_with_its_env_files_path_escaped_as_systemd_escape_does(string envFile)
    {
        string expected = Cmd.Run("systemd-escape", "--path", "--template=kraud-virtiofsd@.service", envFile).Trim();
        Assert.Equal(expected, SystemdShareDaemons.UnitOf(envFile));
        Assert.Equal(envFile, SystemdShareDaemons.EnvFileOf(Path.GetDirectoryName(envFile)!, Path.GetFileNameWithoutExtension(envFile)));
    }
}
