# A production-shaped shop, as a team runs it with Terraform: the import
# round trip (tests/it/terraform.rs) takes it over with reconcile.
# provider.tf (written by the test) points the provider at the emulator.

variable "region" { type = string }
# Every name starts with it, so that runs on one emulator do not collide.
variable "name" {
  type    = string
  default = "shop"
}

module "network" {
  source = "./modules/network"
  name   = var.name
  cidr   = "10.42.0.0/16"
  zones  = ["${var.region}a", "${var.region}b"]
}

resource "aws_security_group" "web" {
  name        = "${var.name}-web"
  description = "web servers"
  vpc_id      = module.network.vpc_id
}

resource "aws_security_group_rule" "web_http" {
  type              = "ingress"
  security_group_id = aws_security_group.web.id
  protocol          = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "web_out" {
  type              = "egress"
  security_group_id = aws_security_group.web.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "database"
  vpc_id      = module.network.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_web" {
  security_group_id            = aws_security_group.db.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.web.id
}

resource "aws_instance" "web" {
  count                  = 2
  ami                    = "ami-0a1b2c3d4e5f60718"
  instance_type          = "t3.micro"
  subnet_id              = module.network.subnet_ids[count.index]
  vpc_security_group_ids = [aws_security_group.web.id]
  tags                   = { Name = "${var.name}-web-${count.index}" }
}

resource "aws_lb" "web" {
  name               = "${var.name}-web"
  load_balancer_type = "application"
  internal           = false
  subnets            = module.network.subnet_ids
  security_groups    = [aws_security_group.web.id]
}

resource "aws_lb_target_group" "app" {
  for_each = toset(["blue", "green"])
  name     = "${var.name}-${each.key}"
  port     = 80
  protocol = "HTTP"
  vpc_id   = module.network.vpc_id
}

resource "aws_lb_target_group_attachment" "web" {
  count            = 2
  target_group_arn = aws_lb_target_group.app["blue"].arn
  target_id        = aws_instance.web[count.index].id
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "app" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  condition {
    path_pattern { values = ["/app/*"] }
  }
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.app["blue"].arn
        weight = 90
      }
      target_group {
        arn    = aws_lb_target_group.app["green"].arn
        weight = 10
      }
    }
  }
}

resource "aws_db_subnet_group" "main" {
  name       = "${var.name}-db"
  subnet_ids = module.network.subnet_ids
}

resource "aws_db_instance" "main" {
  identifier             = "${var.name}-orders"
  engine                 = "postgres"
  engine_version         = "16.3"
  instance_class         = "db.t3.micro"
  allocated_storage      = 20
  username               = "shop"
  password               = "never-in-a-stack-file"
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  deletion_protection    = true
  skip_final_snapshot    = true
}

resource "aws_route53_zone" "shop" {
  name = "${var.name}.example.com"
}

resource "aws_route53_record" "www" {
  zone_id = aws_route53_zone.shop.zone_id
  name    = "www.${var.name}.example.com"
  type    = "A"
  alias {
    name                   = aws_lb.web.dns_name
    zone_id                = aws_lb.web.zone_id
    evaluate_target_health = false
  }
}

resource "aws_route53_record" "mail" {
  zone_id = aws_route53_zone.shop.zone_id
  name    = "${var.name}.example.com"
  type    = "MX"
  ttl     = 300
  records = ["10 mail.${var.name}.example.com"]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name} 5xx at the load balancer"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  dimensions          = { LoadBalancer = aws_lb.web.arn_suffix }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 10
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}

# reconcile has no kind for it: named in the output, left to Terraform.
resource "aws_s3_bucket" "assets" {
  bucket = "${var.name}-assets"
}

data "aws_availability_zones" "here" {}
