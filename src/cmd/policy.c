/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec policy init | show | sync */
#include "cmd.h"

PS_CMD(cmd_policy_init)
{
        ps_err(ctx, "policy init: not implemented yet");
        return 3;
}

PS_CMD(cmd_policy_sync)
{
        ps_err(ctx, "policy sync: not implemented yet");
        return 3;
}
